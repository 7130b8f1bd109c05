export { Authorizer, entrypointOf, type CheckOutcome } from './authorizer.js';
export { readDecision, ContractError, type Decision } from './decision.js';
export { checkRequestToInput, type CheckRequestObject, type InputOptions } from './input.js';
export { decisionToResponse, errorToResponse, type CheckResponseObject } from './response.js';
export { AUTHZ_DECODE, authzHandlers, authzServiceDefinition, AUTHZ_SERVICE } from './service.js';
