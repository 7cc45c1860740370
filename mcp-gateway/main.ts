// `npm run start:mcp-gateway`: the MCP gateway as its own process, on the control plane's PostgreSQL
// database (DATABASE_URL). `npm start` runs it inside the control plane instead.
import { runDatabaseService } from '../core/index.ts';
import { startMcpGateway } from './app.ts';

await runDatabaseService('OpenCrane MCP gateway', (context) => startMcpGateway(context));
