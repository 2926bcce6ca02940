import { describe, expect, it } from 'vitest';

import { createProgress, type ProgressStream } from '../../../src/calibration/index.js';

function fakeStream(isTTY: boolean, columns = 60): ProgressStream & { out: string } {
  const s = {
    isTTY,
    columns,
    out: '',
    write(chunk: string) {
      s.out += chunk;
      return true;
    },
  };
  return s;
}

describe('createProgress: invalid arguments', () => {
  it('rejects a bad total or label', () => {
    expect(() => createProgress(-1, 'x')).toThrow(new RangeError('Expected non-negative integer for total but received -1 of type number'));
    expect(() => createProgress('10' as unknown as number, 'x')).toThrow(new TypeError("Expected non-negative integer for total but received '10' of type string"));
    expect(() => createProgress(10, 3 as unknown as string)).toThrow(new TypeError('Expected string for label but received 3 of type number'));
  });
});

describe('createProgress', () => {
  it('draws a bar on a TTY, throttled, and ends the line on done()', () => {
    const stream = fakeStream(true);
    let t = 0;
    const p = createProgress(4, 'calibrating', { stream, env: {}, now: () => t });
    expect(p.enabled).toBe(true);
    p.tick();
    t = 50;
    p.tick(); // within 100 ms of the last draw: not drawn
    const frames = () => stream.out.split('\r').filter(Boolean);
    expect(frames().length).toBe(1);
    expect(frames()[0]).toContain('1/4  25%');
    t = 200;
    p.tick();
    expect(frames().at(-1)).toContain('3/4  75%');
    p.tick(); // the last one is always drawn
    expect(frames().at(-1)).toContain('4/4 100%');
    p.done();
    expect(stream.out.endsWith('\n')).toBe(true);
    const length = stream.out.length;
    p.tick();
    p.done();
    expect(stream.out.length).toBe(length);
    for (const f of frames()) expect(f.replace('\x1b[K', '').replace('\n', '').length).toBeLessThanOrEqual(59);
  });

  it('takes 80 columns where the terminal reports 0 (a pty without a size)', () => {
    const stream = fakeStream(true, 0);
    const p = createProgress(2, 'bench ppocr_cls.onnx', { stream, env: {}, now: () => 0 });
    p.tick(2);
    const frame = stream.out.split('\r').filter(Boolean)[0].replace('\x1b[K', '');
    expect(frame).toHaveLength(79);
    expect(frame).toMatch(/^bench ppocr_cls\.onnx █+ 2\/2 100% 0:00$/);
  });

  it('is silent when not a TTY, on CI, with OCTET_QUIET, TERM=dumb or quiet: true', () => {
    const cases: [boolean, Record<string, string>, boolean?][] = [
      [false, {}],
      [true, { CI: 'true' }],
      [true, { OCTET_QUIET: '1' }],
      [true, { TERM: 'dumb' }],
      [true, {}, true],
    ];
    for (const [isTTY, env, quiet] of cases) {
      const stream = fakeStream(isTTY);
      const p = createProgress(3, 'x', { stream, env, quiet });
      expect(p.enabled).toBe(false);
      p.tick(3);
      p.done();
      expect(stream.out).toBe('');
    }
    // CI=0 / CI=false do not count as CI.
    expect(createProgress(1, 'x', { stream: fakeStream(true), env: { CI: 'false' } }).enabled).toBe(true);
  });
});
