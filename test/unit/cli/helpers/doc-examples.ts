/**
 * The examples of a Markdown file: every line starting with `octet ` inside a ```sh fenced block (a trailing
 * backslash continues a line), split into arguments as a POSIX shell would for plain words and quotes. Shell
 * syntax beyond that (pipes, redirections, substitutions, `;`, `&&`) is refused, so an example that needs it
 * fails loudly instead of being run differently from what a reader would type.
 */
export interface DocExample {
  /** 1-based line in the file where the example starts. */
  line: number;
  text: string;
  /** The arguments after `octet`. */
  args: string[];
}

export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '$' || text[j] === '`') throw new Error(`unsupported shell syntax '${text[j]}' in: ${text}`);
        if (text[j] === '\\' && j + 1 < text.length) j++;
        word += text[j];
      }
      if (j >= text.length) throw new Error(`unterminated " in: ${text}`);
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break; // a comment to the end of the line
    } else if ('|&;<>()$`*?[]{}~'.includes(c) && !(c === '~' && inWord)) {
      throw new Error(`unsupported shell syntax '${c}' in: ${text}`);
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

export function extractExamples(markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const out: DocExample[] = [];
  let inSh = false;
  let inOther = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!inSh && !inOther && /^\s*```/.test(l)) {
      if (/^\s*```(sh|bash|shell)\s*$/.test(l)) inSh = true;
      else inOther = true;
      continue;
    }
    if ((inSh || inOther) && /^\s*```\s*$/.test(l)) {
      inSh = inOther = false;
      continue;
    }
    if (!inSh) continue;
    let text = l.trim();
    const start = i;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1).trimEnd()} ${lines[++i].trim()}`;
    if (!text.startsWith('octet ')) continue;
    out.push({ line: start + 1, text, args: splitShellWords(text).slice(1) });
  }
  return out;
}

/**
 * The files and folders an example names: arguments (or the VALUE of NAME=VALUE) that end in a file
 * extension or a '/'. Numbers such as 0.5 are not names.
 */
export function namedPaths(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let a of args) {
    if (a.startsWith('-')) {
      // --output-dir=out/ names a path; a bare flag does not.
      if (!a.startsWith('--') || !a.includes('=')) continue;
      a = a.slice(a.indexOf('=') + 1);
    }
    const v = /^[^=/]+=(.+)$/.exec(a)?.[1] ?? a;
    if (/^-?[\d.,]+$/.test(v)) continue;
    if (/\.[A-Za-z][A-Za-z0-9]*$/.test(v) || v.endsWith('/')) out.push(v);
  }
  return out;
}
