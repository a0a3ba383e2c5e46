// Time units shared by every layer, so nobody spells 86_400_000 again.
export const SECOND_MS = 1000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
