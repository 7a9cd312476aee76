/** The package version, as `bkt --version` and the params files print it. */
export { VERSION } from '../version.js';
