// Type-checked against the types openapi-typescript generates from
// openapi.yaml (into target/clients/api.d.ts): a client's view of the API.
// Each `@ts-expect-error` must be an error, or tsc fails.
import type { components, paths } from "../../target/clients/api";

type Schemas = components["schemas"];

// What POST /phone/ answers, by status.
type SendCode = paths["/phone/"]["post"]["responses"];
export type PhoneRejected = SendCode[400]["content"]["application/problem+json"];
export type PhoneRateLimited = SendCode[429]["content"]["application/problem+json"];

export function explain(problem: PhoneRejected): string {
  switch (problem.code) {
    case "invalid_request":
    case "invalid_phone":
    case "phone_not_allowed":
      return problem.errors?.phone?.join(" ") ?? problem.detail;
    default: {
      // Every code of the 400 is handled above.
      const never: never = problem.code;
      return never;
    }
  }
}

export const limited: PhoneRateLimited["code"] = "rate_limited";
export const challenged: PhoneRateLimited["code"] = "challenge_required";
export function work(problem: PhoneRateLimited): number | undefined {
  const challenge = problem.challenge;
  // Our own proof of work has a size; Turnstile's widget names a site key.
  return challenge && "maxnumber" in challenge ? challenge.maxnumber : undefined;
}
// @ts-expect-error: a 429 of /phone/ is never invalid_phone.
export const notLimited: PhoneRateLimited["code"] = "invalid_phone";

export function bearer(login: Schemas["Login"]): string {
  return `${login.token_type} ${login.access}`;
}

type Profile = paths["/profile/{id}/"]["get"]["responses"][200]["content"]["application/json"];
export function referralPhones(profile: Profile): string[] {
  return profile.referrals.map((referral) => referral.phone);
}

type Refreshed = paths["/token/refresh/"]["post"]["responses"][401]["content"]["application/problem+json"];
export const refused: Refreshed["code"] = "token_not_valid";
// @ts-expect-error: a refresh's 401 is never not_authenticated.
export const unauthenticated: Refreshed["code"] = "not_authenticated";
