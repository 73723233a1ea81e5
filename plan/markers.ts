/** What plan writes in place of values it doesn't know or must not show (no imports: loads in no time). */

/** A secret value, in plan.json and the printed plan. */
export const SECRET = "[secret]";
/** A value known only after deployment. */
export const COMPUTED = "[computed]";
