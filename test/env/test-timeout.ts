// Every integration test drives real servers and the CLI (a process of its
// own): on a loaded 2-core machine one CLI run can take longer than Jest's
// default 5 s, and that default would make these tests depend on speed. Jest
// reads `testTimeout` only from the global configuration, not a project's, so
// the integration project sets it here. A test that needs longer says so.
import {jest} from '@jest/globals'

jest.setTimeout(120_000)
