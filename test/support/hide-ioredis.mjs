// `node --import ./hide-ioredis.mjs …`: runs a program as if the optional peer ioredis were not installed.
import { register } from "node:module";

register("./hide-ioredis-hooks.mjs", import.meta.url);
