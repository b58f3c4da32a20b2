import { Client } from 'pg';

/**
 * A direct connection to the run's database, for checking what the platform stored. Tests
 * only read through it; every change goes through the HTTP API.
 */
export async function connectDb(): Promise<Client> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  return client;
}
