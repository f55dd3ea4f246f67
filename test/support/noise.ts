// A table of incompressible-enough text for tests that need a large archive: 80 rows of 512 KiB of
// hex (40 MiB, about 22 MB gzipped), so that a streamed S3 upload takes three parts (8 + 8 MiB and the rest).
export const NOISE_SQL = `CREATE TABLE public.noise (id int PRIMARY KEY, body text);
  INSERT INTO public.noise SELECT i, (SELECT string_agg(md5(i || ':' || g), '') FROM generate_series(1, 16384) g)
  FROM generate_series(1, 80) i`;
