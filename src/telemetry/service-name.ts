/** `service.name` of our spans and log records unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name the service. */
export const DEFAULT_SERVICE_NAME = 'iacdash';
