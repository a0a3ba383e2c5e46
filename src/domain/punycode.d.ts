// Types for the punycode package's CommonJS entry, imported by path so Node's deprecated builtin is never used.
declare module "punycode/punycode.js" {
  interface Punycode {
    toASCII(input: string): string;
    toUnicode(input: string): string;
    encode(input: string): string;
    decode(input: string): string;
  }
  const punycode: Punycode;
  export default punycode;
}
