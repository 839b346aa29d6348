/**
 * Piscina task: load, template and validate a config file off the primary's
 * event loop, so a large config (hundreds of generated cameras) being
 * reloaded never stalls the accept loop that every new client goes through.
 */
import { loadConfigResult } from '../src/config/load-result.js';

export default loadConfigResult;
