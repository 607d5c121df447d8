// The builder loads `.svg` files imported from TypeScript as their raw source text.
declare module '*.svg' {
  const value: string;
  export default value;
}
