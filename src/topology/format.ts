/**
 * A text-table formatter in the style of AnyLog's console output.
 */

/**
 * A value a report cell may hold. Arrays are joined with `, `; `null`/`undefined` print empty.
 *
 * @group Topology & routing
 */
export type CellValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly (string | number | boolean)[];

/**
 * A report row: plain data, one property per column.
 *
 * @group Topology & routing
 */
export type ReportRow = { readonly [key: string]: CellValue };

/**
 * One column of {@link formatTable}: which property to print and under which header.
 *
 * @group Topology & routing
 */
export interface TableColumn<Row extends object = ReportRow> {
  /** Property of the row to print. */
  readonly key: keyof Row & string;
  /** Header text. */
  readonly header: string;
}

const ACRONYMS: ReadonlySet<string> = new Set(['id', 'ip', 'dbms', 'ha']);

/** `clusterId` → `Cluster ID`, `copiesLive` → `Copies Live`. */
function headerOf(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .split(' ')
    .filter((word) => word.length > 0)
    .map((word) =>
      ACRONYMS.has(word.toLowerCase())
        ? word.toUpperCase()
        : word.charAt(0).toUpperCase() + word.slice(1),
    )
    .join(' ');
}

function cellText(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (Array.isArray(value)) text = value.map((item) => cellText(item)).join(', ');
  else text = String(value);
  // One line per row: control characters (newlines, tabs) become a space.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/**
 * Formats rows as an aligned text table the way AnyLog's console prints reports: a header line,
 * a separator line of dashes with `|` after each column, then one line per row with each cell
 * left-aligned, padded to the column width and followed by `|`.
 *
 * Without `columns`, the columns are the keys of the first row, with headers derived from the
 * keys (`clusterId` → `Cluster ID`). The report functions of {@link Topology} come with column
 * sets carrying AnyLog's headers (e.g. {@link DATA_NODES_COLUMNS}).
 *
 * @param rows - The rows to print (plain objects).
 * @param columns - Which properties to print, in order, with their headers.
 * @returns The table, lines joined with `\n`, without a trailing newline. With no rows and no
 * columns, an empty string.
 *
 * @example
 * ```ts
 * import { DATA_NODES_COLUMNS, formatTable, type Topology } from 'edge-ha';
 *
 * declare const topology: Topology;
 *
 * console.log(formatTable(topology.dataNodes({ dbms: 'litsanleandro' }), DATA_NODES_COLUMNS));
 * // Company         DBMS          Table       Cluster ID ...
 * // ---------------|-------------|-----------|---------- ...
 * // Lit San Leandro|litsanleandro|ping_sensor|11612ba3c0 ...
 * ```
 *
 * @group Topology & routing
 */
export function formatTable<Row extends object>(
  rows: readonly Row[],
  columns?: readonly TableColumn<Row>[],
): string {
  const first = rows[0];
  const cols: readonly { key: string; header: string }[] =
    columns ??
    (first === undefined ? [] : Object.keys(first).map((key) => ({ key, header: headerOf(key) })));
  if (cols.length === 0) return '';
  const cells = rows.map((row) =>
    cols.map((column) => cellText((row as Record<string, unknown>)[column.key])),
  );
  const widths = cols.map((column, i) => {
    let width = column.header.length;
    for (const line of cells) width = Math.max(width, (line[i] as string).length);
    return width;
  });
  const header = cols
    .map((column, i) => column.header.padEnd((widths[i] as number) + 1))
    .join('')
    .trimEnd();
  const separator = widths.map((width) => `${'-'.repeat(width)}|`).join('');
  const body = cells.map((line) =>
    line.map((text, i) => `${text.padEnd(widths[i] as number)}|`).join(''),
  );
  return [header, separator, ...body].join('\n');
}
