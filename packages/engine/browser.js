// Browsers (and other ESM hosts with fetch): the wasm file is fetched next to this module and
// compiled while streaming; top-level await makes the exports ready once the import resolves.
import init, { __registerErrorClass } from './wasm/tessera_wasm.js';
import { TesseraError } from './shared.js';

await init({ module_or_path: new URL('./wasm/tessera_wasm_bg.wasm', import.meta.url) });
__registerErrorClass(TesseraError);

export * from './shared.js';
