/**
 * Lexical-form checks for the XSD datatypes a mapping is likely to use. RML-Core (like R2RML) makes an
 * ill-typed literal a data error: "abc"^^xsd:integer must not be generated silently. Datatypes not
 * listed here (xsd:string, custom IRIs) are not checked.
 */

import { XSD } from './vocab.js';

type Check = (s: string) => boolean;

const re = (r: RegExp): Check => (s) => r.test(s);

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const FLOAT = /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN)$/;
const TZ = '(Z|[+-](0\\d|1[0-3]):[0-5]\\d|[+-]14:00)?';
const DATE_PART = '-?([1-9]\\d{3,}|0\\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])';
const TIME_PART = '(([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?|24:00:00(\\.0+)?)';
const DATE = new RegExp(`^${DATE_PART}${TZ}$`);
const DATETIME = new RegExp(`^${DATE_PART}T${TIME_PART}${TZ}$`);
const DATETIME_STAMP = new RegExp(`^${DATE_PART}T${TIME_PART}(Z|[+-](0\\d|1[0-3]):[0-5]\\d|[+-]14:00)$`);
const TIME = new RegExp(`^${TIME_PART}${TZ}$`);
const GYEAR = new RegExp(`^-?([1-9]\\d{3,}|0\\d{3})${TZ}$`);
const GYEARMONTH = new RegExp(`^-?([1-9]\\d{3,}|0\\d{3})-(0[1-9]|1[0-2])${TZ}$`);
const DURATION = /^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

function dayExists(s: string): boolean {
  const m = /^-?(\d+)-(\d\d)-(\d\d)/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}

function boundedInteger(min: bigint, max: bigint): Check {
  return (s) => {
    if (!INTEGER.test(s)) return false;
    const v = BigInt(s);
    return v >= min && v <= max;
  };
}

const CHECKS: Record<string, Check> = {
  integer: re(INTEGER),
  decimal: re(DECIMAL),
  double: re(FLOAT),
  float: re(FLOAT),
  boolean: re(/^(true|false|1|0)$/),
  date: (s) => DATE.test(s) && dayExists(s),
  dateTime: (s) => DATETIME.test(s) && dayExists(s),
  dateTimeStamp: (s) => DATETIME_STAMP.test(s) && dayExists(s),
  time: re(TIME),
  gYear: re(GYEAR),
  gYearMonth: re(GYEARMONTH),
  duration: re(DURATION),
  hexBinary: re(/^([0-9A-Fa-f]{2})*$/),
  base64Binary: re(/^(([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){2}([AEIMQUYcgkosw048] ?)=|[A-Za-z0-9+/] ?[AQgw] ?= ?=)?$/),
  long: boundedInteger(-(2n ** 63n), 2n ** 63n - 1n),
  int: boundedInteger(-(2n ** 31n), 2n ** 31n - 1n),
  short: boundedInteger(-32768n, 32767n),
  byte: boundedInteger(-128n, 127n),
  nonNegativeInteger: boundedInteger(0n, 2n ** 1024n),
  positiveInteger: boundedInteger(1n, 2n ** 1024n),
  nonPositiveInteger: boundedInteger(-(2n ** 1024n), 0n),
  negativeInteger: boundedInteger(-(2n ** 1024n), -1n),
  unsignedLong: boundedInteger(0n, 2n ** 64n - 1n),
  unsignedInt: boundedInteger(0n, 2n ** 32n - 1n),
  unsignedShort: boundedInteger(0n, 65535n),
  unsignedByte: boundedInteger(0n, 255n),
};

/** The lexical check of a datatype IRI, or undefined when the engine does not check that datatype. */
export function lexicalCheck(datatype: string): Check | undefined {
  return datatype.startsWith(XSD) ? CHECKS[datatype.slice(XSD.length)] : undefined;
}
