// Cloudflare Workers: wrangler bundles the wasm file as a WebAssembly.Module (no fetch, no eval).
import wasmModule from './wasm/tessera_wasm_bg.wasm';
import { initSync, __registerErrorClass } from './wasm/tessera_wasm.js';
import { TesseraError } from './shared.js';

initSync({ module: wasmModule });
__registerErrorClass(TesseraError);

export * from './shared.js';
