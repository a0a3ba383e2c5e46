// Cloudflare's published edge ranges, the expansion of the `cloudflare` token in TRUSTED_PROXIES.

// Copied on 2026-11-22 from https://www.cloudflare.com/ips/ (the lists behind
// https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6). Cloudflare changes
// these rarely but does change them: re-check that page when upgrading, since a missing range
// means visitors behind it are rate-limited as one client (the Cloudflare edge address).
export const CLOUDFLARE_IPV4: readonly string[] = Object.freeze([
  "173.245.48.0/20",
  "103.21.244.0/22",
  "103.22.200.0/22",
  "103.31.4.0/22",
  "141.101.64.0/18",
  "108.162.192.0/18",
  "190.93.240.0/20",
  "188.114.96.0/20",
  "197.234.240.0/22",
  "198.41.128.0/17",
  "162.158.0.0/15",
  "104.16.0.0/13",
  "104.24.0.0/14",
  "172.64.0.0/13",
  "131.0.72.0/22",
]);

export const CLOUDFLARE_IPV6: readonly string[] = Object.freeze([
  "2400:cb00::/32",
  "2606:4700::/32",
  "2803:f800::/32",
  "2405:b500::/32",
  "2405:8100::/32",
  "2a06:98c0::/29",
  "2c0f:f248::/32",
]);
