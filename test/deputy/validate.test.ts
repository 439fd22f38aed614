import { describe, expect, it } from 'vitest';
import { validateEventsPage } from '../../src/deputy/validate.js';
import { sealParsedEvents } from '../../src/storage/validate.js';

const W = { from: 100, to: 200 };

function sealed(json: string): ReturnType<typeof sealParsedEvents> {
  const events = sealParsedEvents(JSON.parse(json));
  expect(events).toBeDefined();
  return events;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('validateEventsPage', () => {
  it('takes a sealed page (checked by httpPeer) and returns its records as they are', () => {
    const items = sealed('[{"id":"a","t":150,"body":{"k":1}},{"id":"b","t":150,"body":null}]');
    const page = validateEventsPage({ items, next: 'c1' }, W, 10, null, 'x');
    expect(page.items).toBe(items);
    expect(page.next).toBe('c1');
  });

  it('still checks window, order, the previous page and the limit of a sealed page', () => {
    const outside = sealed('[{"id":"a","t":250,"body":1}]');
    const unsorted = sealed('[{"id":"b","t":150,"body":1},{"id":"a","t":150,"body":1}]');
    const early = sealed('[{"id":"a","t":150,"body":1}]');
    expect(codeOf(() => validateEventsPage({ items: outside, next: null }, W, 10, null, 'x'))).toBe(
      'PEER_BAD_REPLY',
    );
    expect(
      codeOf(() => validateEventsPage({ items: unsorted, next: null }, W, 10, null, 'x')),
    ).toBe('PEER_BAD_REPLY');
    expect(
      codeOf(() =>
        validateEventsPage({ items: early, next: null }, W, 10, { t: 150, id: 'a' }, 'x'),
      ),
    ).toBe('PEER_BAD_REPLY');
    expect(codeOf(() => validateEventsPage({ items: unsorted, next: null }, W, 1, null, 'x'))).toBe(
      'PEER_BAD_REPLY',
    );
  });

  it('checks every record of a page that is not sealed', () => {
    const items = [{ id: 'a', t: 150, body: Number.NaN }];
    expect(codeOf(() => validateEventsPage({ items, next: null }, W, 10, null, 'x'))).toBe(
      'PEER_BAD_REPLY',
    );
  });

  it('reads items and next once, so a getter cannot swap the page after the check', () => {
    let reads = 0;
    const good = [{ id: 'a', t: 150, body: 1 }];
    const bad = [{ id: 'a', t: 150, body: Number.NaN }];
    const page = {
      get items() {
        reads++;
        return reads === 1 ? good : bad;
      },
      next: null,
    };
    expect(validateEventsPage(page, W, 10, null, 'x').items).toBe(good);
  });
});
