// `npm run start:token-service`: the token service as its own process, on the control plane's
// PostgreSQL database (DATABASE_URL). `npm start` runs it inside the control plane instead.
import { runDatabaseService } from '../core/index.ts';
import { startTokenService } from './app.ts';

await runDatabaseService('OpenCrane token service', (context) => startTokenService(context));
