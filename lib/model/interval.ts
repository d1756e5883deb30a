/** Closed timestamp interval of one sensor: from and to are both points that may exist. */
export interface SensorInterval {
  sensor: number;
  from: number;
  to: number;
}
