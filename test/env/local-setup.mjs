import {loadHook} from './load-hook.mjs'

export default async function local_setup(...args) {
  return (await loadHook('local-setup'))(...args)
}
