import {confirmGate, runStage, runStages, type Stage, type StageRenderer} from '../../../src/lib/workflow/runner.js'

describe('workflow runner', () => {
  it('runs named stages in order on one context and reports each by name', async () => {
    const events: string[] = []
    const stages: Stage<{seen: string[]}>[] = [
      {name: 'preflight', title: 'Preflight', run: async (ctx) => void ctx.seen.push('preflight')},
      {name: 'plan', title: 'Plan', run: async (ctx) => void ctx.seen.push('plan'), skip: () => 'nothing to plan'},
      {name: 'act', title: 'Act', run: async (ctx) => void ctx.seen.push('act')},
    ]
    const ctx = await runStages(stages, {seen: [] as string[]}, {onStage: (name, state) => events.push(`${name}:${state}`)})
    expect(ctx.seen).toEqual(['preflight', 'act'])
    expect(events).toEqual(['preflight:start', 'preflight:done', 'plan:skipped', 'act:start', 'act:done'])
  })

  it('stops at the first failing stage', async () => {
    const ran: string[] = []
    await expect(
      runStages([
        {title: 'a', run: async () => void ran.push('a')},
        {title: 'b', run: async () => Promise.reject(new Error('b failed'))},
        {title: 'c', run: async () => void ran.push('c')},
      ], {}),
    ).rejects.toThrow('b failed')
    expect(ran).toEqual(['a'])
  })

  it('stops before the next stage once the signal aborts', async () => {
    const controller = new AbortController()
    const ran: string[] = []
    await expect(
      runStages([
        {title: 'a', run: async () => void (ran.push('a'), controller.abort())},
        {title: 'b', run: async () => void ran.push('b')},
      ], {}, {signal: controller.signal}),
    ).rejects.toMatchObject({code: 'CANCELLED'})
    expect(ran).toEqual(['a'])
  })

  it('lets the renderer show the stages while the runner runs them', async () => {
    const shown: string[] = []
    const renderer: StageRenderer = {
      async show(stages, execute) {
        for (let i = 0; i < stages.length; i++) {
          const outcome = await execute(i, (output) => shown.push(`${stages[i].title}: ${output}`))
          shown.push(`${stages[i].title} ${outcome.state}`)
        }
      },
    }
    expect(await runStage('count', async (update) => (update('1/2'), 42), {renderer})).toBe(42)
    expect(shown).toEqual(['count: 1/2', 'count done'])
  })

  it('refuses at a confirmation gate nothing can answer, and asks the hook otherwise', async () => {
    await expect(confirmGate({}, {message: 'Rewrite?'})).rejects.toMatchObject({code: 'REFUSED'})
    const asked: string[] = []
    await confirmGate({confirm: async (q) => void asked.push(q.message)}, {message: 'Rewrite?'})
    expect(asked).toEqual(['Rewrite?'])
  })
})
