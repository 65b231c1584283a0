// An empty ES module: what Node's ESM loader adds to `node -e 0` before any code is parsed.
export {};
