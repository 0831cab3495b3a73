/** Set-up of vitest.react-18.config.ts: a run meant for React 18 fails at once on another one. */
import { version } from "react";

if (!version.startsWith("18.")) throw new Error(`expected React 18 from test/react-18, got React ${version}`);
