import { describe, expect, it } from 'vitest';
import { escapeControls, Output } from '../../../../lib/cli/output.js';

function capture() {
  const written = { stdout: '', stderr: '' };
  const stream = (name: 'stdout' | 'stderr') => ({
    write: (text: string) => {
      written[name] += text;
      return true;
    },
  });
  return { written, stdout: stream('stdout'), stderr: stream('stderr') };
}

describe('what the CLI prints of files and services', () => {
  it('shows control characters as \\xHH, keeping tabs and newlines', () => {
    expect(escapeControls('year\u001b[2J\u001b]0;pwned\u0007,sex')).toBe(
      'year\\x1b[2J\\x1b]0;pwned\\x07,sex',
    );
    expect(escapeControls('a\rb\u0000c\u007fd\u009be')).toBe('a\\x0db\\x00c\\x7fd\\x9be');
    expect(escapeControls('tab\there\nnext line, café, 新加坡')).toBe('tab\there\nnext line, café, 新加坡');
  });

  it('escapes every line for people, and C1 and DEL in the JSON object (JSON escapes the rest)', () => {
    for (const json of [false, true]) {
      const { written, stdout, stderr } = capture();
      const out = new Output({ json, debug: false, secrets: ['key-1234567890'], stdout, stderr });
      out.info('header "\u001b[31mred" key-1234567890');
      out.warn('value \u009b2J');
      out.result({ header: '\u001b[31m\u009b' });
      out.fail('validate', new Error('column "\u001b]8;;http://x\u0007" is unknown'));
      const all = written.stdout + written.stderr;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the test.
      expect(all).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(all).not.toContain('key-1234567890');
      expect(all).toContain('\\x1b[31mred');
      if (json)
        expect(JSON.parse(written.stdout.split('\n')[0] ?? '')).toEqual({ header: '\u001b[31m\u009b' });
    }
  });
});
