/** The protocol codec uses Node's Buffer; in the page, the `buffer` package stands in (injected by the build). */
export { Buffer } from 'buffer';
