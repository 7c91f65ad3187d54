// What every entry exports. The entries (node.js, browser.js, workerd.js) differ only in how
// they load the WebAssembly module; the API and its answers are the same everywhere.
export {
  Engine,
  version,
  validate,
  checkRequest,
  parseRequest,
  parseFile,
  normalizeMeta,
  hashMeta,
  sha256Hex,
  csvCell,
  toCsv,
  signWebhook,
  verifyWebhook,
} from './wasm/tessera_wasm.js';

/** Every error the engine throws: a real `Error` with a stable `code` and the JSON `path` of the
 * offending input (`""` when the whole input is at fault). */
export class TesseraError extends Error {
  constructor(message, code, path) {
    super(message);
    this.name = 'TesseraError';
    this.code = code;
    this.path = path;
  }
}
