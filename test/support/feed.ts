// Feed subscriptions have no acknowledgement in the protocol (contract §5); the registrar's subscriber gauge is
// the observable sign that a subscription without `after_seq` is in place, so a test can write only after it.
import { expect, vi } from "vitest";
import { metric } from "./federation.js";
import type { TestSocket } from "./ws-test-client.js";

/** Sends `subscribe` on an open feed socket (after hello) and resolves once the registrar at `url` counts it. */
export async function subscribeAndWait(url: string, s: TestSocket, sub: Record<string, unknown> = {}): Promise<void> {
  const before = await metric(url, "registrar_feed_subscribers");
  s.send({ op: "subscribe", ...sub });
  await vi.waitFor(async () => expect(await metric(url, "registrar_feed_subscribers")).toBeGreaterThan(before), { timeout: 5000, interval: 10 });
}
