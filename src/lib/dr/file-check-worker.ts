// Worker-thread entry of startFileCheck (file-check.ts): checks one snapshot
// file, following its writer's progress messages, and replies once.
import {parentPort, workerData} from 'node:worker_threads'

import {checkFileContents, WrittenSoFar, type WorkerMessage, type WorkerReply} from './file-check.js'

const port = parentPort!
const written = new WrittenSoFar()
port.on('message', (message: WorkerMessage) => {
  if (message.type === 'fail') written.fail(new Error(message.message))
  else if (message.type === 'commit') written.commit(message.bytes)
  else written.finish(message.bytes)
})

const reply = (message: WorkerReply) => port.postMessage(message)
checkFileContents((workerData as {path: string}).path, written).then(
  (inspection) => reply({type: 'result', inspection}),
  (error: NodeJS.ErrnoException) => reply({type: 'error', message: error.message, code: error.code}),
)
