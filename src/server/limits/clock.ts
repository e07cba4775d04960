/** Milliseconds now; injected so that rate limits can be tested without waiting. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
