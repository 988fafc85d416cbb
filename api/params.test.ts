import { describe, expect, it } from 'vitest';
import { parseGoBool, queryBool } from './params.js';

describe('queryBool (apimachinery Convert_Slice_string_To_bool)', () => {
  it('is false only when absent, "0" or "false" in any case', () => {
    for (const v of [undefined, null, '0', 'false', 'False', 'FALSE', 'fAlSe']) expect(queryBool(v), String(v)).toBe(false);
  });
  it('is true for every other value, the empty one included', () => {
    for (const v of ['1', 't', 'T', 'true', 'True', 'TRUE', '', 'yes', 'f', 'F', '00']) expect(queryBool(v), v).toBe(true);
  });
});

describe('parseGoBool (strconv.ParseBool)', () => {
  it('accepts its twelve spellings and nothing else', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseGoBool(v)).toBe(true);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(parseGoBool(v)).toBe(false);
    for (const v of ['', 'yes', 'tRUE', 'on', ' true']) expect(parseGoBool(v)).toBeUndefined();
  });
});
