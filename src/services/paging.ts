/** The list shape of every paginated endpoint. */
export interface Page<T> {
  count: number;
  page: number;
  page_size: number;
  total_pages: number;
  results: T[];
}

export function pageOf<T>(results: T[], count: number, page: number, pageSize: number): Page<T> {
  return { count, page, page_size: pageSize, total_pages: Math.ceil(count / pageSize), results };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
