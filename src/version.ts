/** The version of both programs; kept in step with package.json by the release checklist. */
export const VERSION = '0.1.0';
