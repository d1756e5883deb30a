/** What every generated Kubernetes object is made of: plain JSON, the part-of label, the restricted security contexts. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export const PART_OF = { 'app.kubernetes.io/part-of': 'herodotus' };

/** Pod security of the ClickHouse and Keeper images: their clickhouse user (101), never root. */
export const POD_SECURITY: Obj = {
  runAsNonRoot: true,
  runAsUser: 101,
  runAsGroup: 101,
  fsGroup: 101,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const RESTRICTED: Obj = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};
