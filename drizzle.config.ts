import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/history/schema*.ts',
  out: './migrations',
  migrations: { prefix: 'index' },
});
