/**
 * Value rules per data.gov.sg column type. NUMERIC values must be numbers (an optional sign,
 * digits with an optional decimal point, an optional exponent; no thousands separators).
 * A blank value (empty or only spaces) is accepted in any column: it means "no value", and the
 * platform's handling of blanks is not documented. Types without a rule are not checked.
 */
const NUMBER_SOURCE = '[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?';
const NUMBER = new RegExp(`^${NUMBER_SOURCE}$`);

/** Characters a plain value never holds: quotes, line breaks, control characters (tab aside) and U+FFFD (what invalid UTF-8 decodes to). */
const NOT_PLAIN = '"\\r\\n\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F\\uFFFD';

/**
 * A field that can raise no problem in a column whose values are not checked: plain text without
 * a comma, or in quotes plain text with commas and doubled quotes (papaparse unquotes it).
 * Written so that the only repetition inside quotes is per doubled quote, not per character.
 */
const PLAIN_TEXT_SOURCE = `(?:[^,${NOT_PLAIN}]*|"[^${NOT_PLAIN}]*(?:""[^${NOT_PLAIN}]*)*")`;

export type ValueRule = (value: string) => boolean;

export interface ColumnRule {
  /** The rule values of the column must pass; undefined when its type is not checked. */
  accepts: ValueRule | undefined;
  /**
   * A regular-expression source for plain values this column surely accepts: a subset of what
   * `accepts` passes (and of plain text), so a row made of such values needs no closer look.
   */
  plainSource: string;
}

export function ruleFor(dataType: string | undefined): ColumnRule {
  if (dataType?.toUpperCase() === 'NUMERIC') {
    return {
      accepts: (value) => value.trim() === '' || NUMBER.test(value.trim()),
      plainSource: `(?: *(?:${NUMBER_SOURCE} *)?|" *(?:${NUMBER_SOURCE} *)?")`,
    };
  }
  return { accepts: undefined, plainSource: PLAIN_TEXT_SOURCE };
}
