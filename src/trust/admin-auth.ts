// The operator's bearer token (contract §8.5): ADMIN_TOKEN, compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";

export class AdminAuth {
  private readonly digest: Buffer | null;

  /** `adminToken` lower-cased 64 hex, or undefined: then `enabled` is false and every admin route is a 404. */
  constructor(adminToken: string | undefined) {
    this.digest = adminToken ? createHash("sha256").update(adminToken.toLowerCase()).digest() : null;
  }

  get enabled(): boolean {
    return this.digest !== null;
  }

  /**
   * True when `presented` (the Bearer value) is the admin token. Both sides are hashed to equal lengths first, so the
   * comparison time says nothing about the token's length or prefix.
   */
  allows(presented: string | null): boolean {
    if (!this.digest || presented === null) return false;
    const candidate = createHash("sha256").update(presented.toLowerCase()).digest();
    return timingSafeEqual(candidate, this.digest);
  }
}
