import {loadHook} from './load-hook.mjs'

export default async function global_teardown(...args) {
  return (await loadHook('global-teardown'))(...args)
}
