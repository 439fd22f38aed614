/**
 * Operations: what a host maps the HA state to (an OPC UA ServiceLevel).
 *
 * @module
 */

export { SERVICE_LEVEL, serviceLevel } from './service-level.js';
