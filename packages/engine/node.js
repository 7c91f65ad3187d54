// Node: the wasm file is read from the package folder and compiled synchronously at import.
import { readFileSync } from 'node:fs';
import { initSync, __registerErrorClass } from './wasm/tessera_wasm.js';
import { TesseraError } from './shared.js';

initSync({ module: readFileSync(new URL('./wasm/tessera_wasm_bg.wasm', import.meta.url)) });
__registerErrorClass(TesseraError);

export * from './shared.js';
