// Request validation: TypeBox schemas compiled by the TypeBox validator, which converts query strings,
// params and headers to the declared types (never the body). Its conversion would quietly truncate
// `limit=1.5` to 1, so numbers in a query string must first be written as plain integers.
import type { FastifySchemaCompiler } from 'fastify';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';

const PLAIN_INTEGER = /^-?(0|[1-9][0-9]{0,15})$/;

function integerProperties(schema: TSchema): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.entries(properties).filter(([, s]) => s.type === 'integer').map(([name]) => name);
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const validate = TypeBoxValidatorCompiler(route);
  if (route.httpPart === 'body') return validate;
  const integers = integerProperties(route.schema);
  if (integers.length === 0) return validate;
  return (value: unknown) => {
    const record = (value ?? {}) as Record<string, unknown>;
    for (const name of integers) {
      const raw = record[name];
      if (typeof raw === 'string' && !PLAIN_INTEGER.test(raw)) {
        return { error: [{ keyword: 'type', instancePath: `/${name}`, schemaPath: '#', params: {}, message: 'must be an integer' }] };
      }
    }
    return validate(value);
  };
};
