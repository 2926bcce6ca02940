/** The command registry: add a command by adding its file here. */
import type { Command } from '../command.js';
import { analyzeCommand } from './analyze.js';
import { backendsCommand } from './backends.js';
import { benchCommand } from './bench.js';
import { inspect } from './inspect.js';
import { quantizeCommand } from './quantize.js';
import { runCommand } from './run.js';

export const COMMANDS: readonly Command[] = [analyzeCommand, backendsCommand, benchCommand, inspect, quantizeCommand, runCommand];
