/**
 * Value rules per data.gov.sg column type. NUMERIC values must be numbers (an optional sign,
 * digits with an optional decimal point, an optional exponent; no thousands separators).
 * A blank value (empty or only spaces) is accepted in any column: it means "no value", and the
 * platform's handling of blanks is not documented. Types without a rule are not checked.
 */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export type ValueRule = (value: string) => boolean;

export function ruleFor(dataType: string): ValueRule | undefined {
  if (dataType.toUpperCase() === 'NUMERIC')
    return (value) => value.trim() === '' || NUMBER.test(value.trim());
  return undefined;
}
