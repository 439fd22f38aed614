/**
 * Number marks: how a number was written in the text it was parsed from, when a JS `number`
 * alone cannot say it. Internal to the policy module (not re-exported).
 *
 * Python, and so AnyLog, distinguishes the float `5.0` from the int `5`, and keeps integers of
 * any size. A JS number cannot, so the parser records, per container (object or array) and key
 * (or index), the Python spelling of such numbers: a whole float (`'5.0'`, `'1e+16'`) or an
 * integer outside the safe range (its exact digits). {@link pythonRepr} and the serializers
 * consult these marks. A mark is only used while the container still holds the very number it
 * was recorded for, so mutating a policy never produces a stale spelling. Copying a container
 * (spread, `structuredClone`, `JSON.parse(JSON.stringify())`) loses its marks; plain JS values
 * built in code have none.
 */

/** A container that can hold marked numbers. */
export type MarkContainer = object;

interface NumberMark {
  readonly value: number;
  readonly text: string;
}

const MARKS: WeakMap<MarkContainer, Map<string | number, NumberMark>> = new WeakMap();

/** Records that `container[key]` holds `value`, to be spelled `text` in Python/JSON output. */
export function setNumberMark(
  container: MarkContainer,
  key: string | number,
  value: number,
  text: string,
): void {
  let marks = MARKS.get(container);
  if (marks === undefined) {
    marks = new Map();
    MARKS.set(container, marks);
  }
  marks.set(key, { value, text });
}

/** Forgets a mark (e.g. when a duplicate key replaces a marked number). */
export function deleteNumberMark(container: MarkContainer, key: string | number): void {
  MARKS.get(container)?.delete(key);
}

/**
 * The recorded spelling of `container[key]` when it still holds `value`, else `undefined`.
 */
export function getNumberMark(
  container: MarkContainer,
  key: string | number,
  value: number,
): string | undefined {
  const mark = MARKS.get(container)?.get(key);
  return mark !== undefined && Object.is(mark.value, value) ? mark.text : undefined;
}

/** Copies the still-valid marks of `from[fromKey]` to `to[toKey]`. */
export function copyNumberMark(
  from: MarkContainer,
  fromKey: string | number,
  to: MarkContainer,
  toKey: string | number,
  value: number,
): void {
  const text = getNumberMark(from, fromKey, value);
  if (text !== undefined) setNumberMark(to, toKey, value, text);
}

/**
 * Key order marks. A JS object lists integer-like keys (`"0"`, `"42"`: array indexes) before
 * all others, whatever the order they were written in; Python dicts keep insertion order, so
 * AnyLog hashes them in text order. The parser records the text order of objects holding such
 * keys, and {@link orderedKeys} returns it to the repr and the serializers.
 */
const KEY_ORDERS: WeakMap<MarkContainer, readonly string[]> = new WeakMap();

/** Whether JS objects move `key` to the front (a canonical array index, 0..2^32-2). */
export function isIndexLikeKey(key: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4_294_967_295;
}

/** Records `keys` (the text order) as the key order of `container` when JS would reorder it. */
export function setKeyOrder(container: MarkContainer, keys: readonly string[]): void {
  if (!keys.some(isIndexLikeKey)) return;
  const own = Object.keys(container);
  if (own.length === keys.length && own.every((key, i) => key === keys[i])) return;
  KEY_ORDERS.set(container, [...keys]);
}

/**
 * The keys of `container` in their original order: the recorded text order for the keys still
 * present, then any key added since, in JS order. Without a record, `Object.keys`.
 */
export function orderedKeys(container: MarkContainer): string[] {
  const own = Object.keys(container);
  const order = KEY_ORDERS.get(container);
  if (order === undefined) return own;
  const present = new Set(own);
  const result = order.filter((key) => present.has(key));
  const listed = new Set(result);
  for (const key of own) if (!listed.has(key)) result.push(key);
  return result;
}
