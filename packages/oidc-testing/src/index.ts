export { startKeycloakLikeProvider, TokenRequestError, type KeycloakLikeProvider } from "./provider.ts";
export { CookieJar, browse, pkcePair } from "./http-client.ts";
export { providerOptionsFromRealm, type RealmExport, type RealmProviderOverrides } from "./realm.ts";
export type {
  AuthorizationCodeLoginOptions,
  KeycloakLikeClient,
  KeycloakLikeProviderOptions,
  KeycloakLikeUser,
  MintOptions,
  ProviderEndpoints,
  ServiceAccountConfig,
  TokenResponse,
} from "./types.ts";
