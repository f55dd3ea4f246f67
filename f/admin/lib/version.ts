// The bundle's name and version, recorded in every manifest (scripts in Windmill cannot read package.json).
export const TOOL = { name: "windmill-pg-backup", version: "0.1.0" } as const;
