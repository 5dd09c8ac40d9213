/** @moat/detectors: one pure module per detector, and the registry the detector service hosts. */
export * from './detector';
export * from './registry';
export * from './detector-config';
export * from './request-rate/request-rate.detector';
