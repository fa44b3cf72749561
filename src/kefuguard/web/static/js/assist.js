/* kefuguard 客服质检看板 — agent assist and training: the 话术 script library (its own page, and a search
 * box on the pre-send checker), the tone badge of the checker's 语气检查, and the rules quiz (an agent takes
 * it and sees the score; a supervisor sees the scores per agent). */
(function () {
  'use strict';

  const KG = window.KG;
  const { h, t, api, fmt } = KG;
  const state = KG.state;

  const { pageHead, card: section } = KG;
  const pct = (v) => (v === null || v === undefined ? '—' : fmt.num(v, 1) + '%');

  // ================================================================== tone (the checker's 语气检查)
  KG.toneName = (tone) => {
    if (!tone.rude) return t('toneFriendly');
    if (state.lang !== 'en' && tone.category_zh) return tone.category_zh;
    return t('tone.' + tone.category);
  };
  KG.toneBadge = (tone) => h('span', { id: 'check-tone-result', class: 'tone ' + (tone.rude ? 'tone-bad' : 'tone-ok'), dataset: { rude: String(tone.rude), category: tone.category || '' } },
    ' · ', t('toneLine', { tone: KG.toneName(tone), p: fmt.percent(tone.probability) }));

  // ================================================================== script search (a component)
  /** A search box over the script library. opts: id (prefix of the elements' ids), where() → the API's
   * {shop_id} / {platform}, onUse(match) and useLabel (the main button of each script), autofocus, query.
   * Returns {el, run, input}. */
  KG.scriptSearch = function (opts) {
    const prefix = opts.id || 'script';
    const input = h('input', { type: 'search', id: prefix + '-q', name: 'q', maxlength: '500', autocomplete: 'off', autofocus: opts.autofocus || null, placeholder: t('scriptPlaceholder') });
    if (opts.query) input.value = opts.query;
    const button = h('button', { type: 'submit', class: 'btn btn-secondary', id: prefix + '-search' }, t('search'));
    const status = h('p', { class: 'muted script-status', id: prefix + '-status', role: 'status', 'aria-live': 'polite' });
    const list = h('ul', { class: 'scripts', id: prefix + '-results', 'aria-label': t('scriptResults') });
    let seq = 0;
    let shown = null; // the query and target whose results are on screen
    const copy = async (m) => {
      try {
        await navigator.clipboard.writeText(m.text);
        KG.toast(t('copied'), 'ok');
      } catch (err) {
        KG.toast(t('copyFailed'), 'error');
      }
    };
    const item = (m) => h('li', { class: 'script', dataset: { id: m.id, kind: m.kind } },
      h('div', { class: 'script-head' }, h('strong', { class: 'script-title' }, m.title), ' ', h('span', { class: 'chip' }, t('scriptKind.' + m.kind))),
      h('p', { class: 'script-text' }, m.text),
      m.matched && m.matched !== m.text ? h('p', { class: 'hint script-matched' }, t('scriptMatched', { q: m.matched })) : null,
      m.source && (m.source.quote || m.source.file) ? h('div', { class: 'source' }, h('blockquote', null, m.source.quote || ''), h('cite', null, m.source.file || '')) : null,
      h('div', { class: 'actions' },
        opts.onUse ? h('button', { type: 'button', class: 'btn script-use', 'aria-label': `${opts.useLabel || t('scriptUse')}：${m.title}`, onclick: () => opts.onUse(m) }, opts.useLabel || t('scriptUse')) : null,
        h('button', { type: 'button', class: 'btn btn-secondary script-copy', 'aria-label': `${t('scriptCopy')}：${m.title}`, onclick: () => copy(m) }, t('scriptCopy'))));
    const run = async () => {
      const q = input.value.trim();
      const params = Object.assign({ q, top: 5 }, opts.where ? opts.where() : {});
      const key = JSON.stringify(params);
      if (key === shown) return; // already on screen (Enter, then the typing pause)
      const mine = ++seq;
      shown = null;
      if (!q) { list.replaceChildren(); status.textContent = ''; status.dataset.state = 'idle'; return; }
      status.dataset.state = 'busy';
      status.textContent = t('searching');
      try {
        const res = await api('/v1/scripts' + KG.qs(params));
        if (mine !== seq) return;
        shown = key;
        status.dataset.state = res.total ? 'found' : 'none';
        status.textContent = res.total ? t('scriptCount', { n: res.total, method: t('method.' + res.method) }) : t('scriptNone');
        list.replaceChildren(...res.items.map(item));
      } catch (err) {
        if (mine !== seq) return;
        status.dataset.state = 'error';
        status.textContent = err.text ? err.text() : String(err);
        list.replaceChildren();
      }
    };
    const form = h('form', { class: 'filters script-search', id: prefix + '-form', role: 'search' }, KG.field(t('scriptSearch'), input), button);
    const later = KG.debounce(run, 400);
    form.addEventListener('submit', (event) => { event.preventDefault(); later.cancel(); run(); });
    input.addEventListener('input', later);
    return { el: h('div', { class: 'script-box' }, form, status, list), run, input };
  };

  // ================================================================== scripts page
  KG.route('scripts', /^\/scripts$/, 'agent', async (view, match, ctx) => {
    const targets = await KG.checkTargets();
    const target = KG.targetSelect('script-target', targets, ctx.params);
    const search = KG.scriptSearch({
      id: 'script', autofocus: true, query: ctx.params.get('q'), where: () => KG.targetParams(target.value),
      useLabel: t('scriptToCheck'),
      onUse: (m) => KG.go('/check', Object.assign({}, KG.targetParams(target.value), { text: m.text })),
    });
    target.addEventListener('change', () => search.run());
    view.append(pageHead(t('nav.scripts')), h('p', { class: 'muted' }, t('scriptsHelp')),
      section(null, null, h('div', { class: 'filters' }, KG.field(t('checkTarget'), target)), search.el));
    // a search named in the address runs once the page is up (the first semantic one loads the model)
    if (search.input.value.trim()) search.run();
  });

  // ================================================================== quiz
  const GENERATED = [0, 3, 6, 10, 20];

  function questionBox(q, i) {
    const type = q.multi ? 'checkbox' : 'radio';
    const options = q.options.map((o) => {
      const id = `q-${q.id}-${o.letter}`;
      return h('li', null, h('input', { type, name: 'q-' + q.id, id, value: o.letter }),
        h('label', { for: id }, h('span', { class: 'opt-letter' }, o.letter + '.'), ' ', o.text));
    });
    return h('fieldset', { class: 'quiz-q', id: 'quiz-q-' + q.id, dataset: { qid: q.id, kind: q.kind } },
      h('legend', null, h('span', { class: 'quiz-n' }, t('quizQuestion', { n: i + 1 })), ' ',
        q.multi ? h('span', { class: 'chip' }, t('quizMulti')) : q.true_false ? h('span', { class: 'chip' }, t('quizTrueFalse')) : null, ' ',
        h('span', { class: 'quiz-text' }, q.text)),
      h('ul', { class: 'quiz-options' }, options));
  }

  function given(form, q) {
    return KG.$$(`input[name="q-${CSS.escape(q.id)}"]:checked`, form).map((x) => x.value).join('');
  }

  function resultCard(r) {
    const tile = (id, label, value) => h('div', { class: 'tile', id }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value));
    const kinds = Object.entries(r.by_kind || {});
    return h('section', { class: 'card quiz-result', id: 'quiz-result', tabindex: '-1', dataset: { percent: String(r.percent), score: String(r.score), total: String(r.total) } },
      h('h2', null, t('quizResultTitle')),
      h('div', { class: 'tiles' },
        tile('quiz-percent', t('quizPercent'), pct(r.percent)),
        tile('quiz-score', t('quizScore'), `${r.score} / ${r.total}`)),
      KG.table([
        { label: t('quizKind'), render: (x) => t('quizKind.' + x[0]) },
        { label: t('quizRightCount'), num: true, render: (x) => `${x[1].correct} / ${x[1].total}` },
      ], kinds, { id: 'quiz-by-kind', caption: t('quizByKind') }));
  }

  function markAnswers(form, r) {
    for (const item of r.items || []) {
      const box = KG.$('#quiz-q-' + CSS.escape(item.id), form);
      if (!box) continue;
      box.classList.add(item.correct ? 'quiz-right' : 'quiz-wrong');
      box.dataset.correct = String(item.correct);
      for (const input of KG.$$('input', box)) input.disabled = true;
      box.append(h('div', { class: 'quiz-feedback' },
        h('p', null, h('strong', { class: item.correct ? 'good-text' : 'bad-text' }, item.correct ? t('quizRight') : t('quizWrong')), ' · ',
          t('quizYourAnswer'), '：', item.given || t('quizNoAnswer'), ' · ', t('quizCorrectAnswer'), '：', h('strong', { class: 'quiz-answer' }, item.answer)),
        item.explanation ? h('p', { class: 'hint' }, item.explanation) : null,
        item.source ? h('cite', null, item.source) : null));
    }
  }

  function takeQuiz(area, quiz, onGraded) {
    const progress = h('p', { class: 'muted', id: 'quiz-progress', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'btn', id: 'quiz-submit' }, t('quizSubmit'));
    const error = h('div', { class: 'error-box', role: 'alert', id: 'quiz-submit-error', hidden: true });
    const form = h('form', { class: 'card quiz', id: 'quiz-questions', dataset: { quiz: String(quiz.quiz_id), seed: String(quiz.seed) } },
      h('h2', { tabindex: '-1' }, quiz.title, ' ', h('span', { class: 'muted' }, t('quizCount', { n: quiz.total }))),
      quiz.questions.map(questionBox), progress, error, h('div', { class: 'actions' }, submit));
    const count = () => {
      const n = quiz.questions.filter((q) => given(form, q)).length;
      progress.textContent = t('quizAnswered', { n, total: quiz.total }) + (n < quiz.total ? ' · ' + t('quizUnansweredHint') : '');
    };
    form.addEventListener('change', count);
    count();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      KG.busy(submit, async () => {
        error.hidden = true;
        const answers = {};
        for (const q of quiz.questions) { const a = given(form, q); if (a) answers[q.id] = a; }
        try {
          const r = await api('/v1/quiz/answers', { method: 'POST', body: { quiz_id: quiz.quiz_id, answers } });
          markAnswers(form, r);
          submit.remove();
          progress.remove();
          const card = resultCard(r);
          area.prepend(card);
          card.focus();
          card.scrollIntoView({ block: 'start' });
          if (onGraded) onGraded(r);
        } catch (err) {
          error.hidden = false;
          error.textContent = err.text ? err.text() : String(err);
        }
      });
    });
    area.replaceChildren(form);
    form.querySelector('h2').focus();
  }

  async function scores(box, ctx) {
    const p = ctx.params;
    const limit = 20;
    const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
    const agentId = p.get('agent_id') || null;
    const when = (r) => fmt.datetime(r.graded_at);
    const resultColumns = (withAgent) => [
      { label: t('time'), render: when },
      withAgent ? { label: t('agent'), render: (r) => (r.practice ? h('span', { class: 'muted' }, t('quizPractice', { who: r.taken_by })) : r.agent) } : null,
      { label: t('platform'), render: (r) => KG.platformName(r.platform) },
      { label: t('quizTitle'), key: 'title' },
      { label: t('quizScore'), num: true, render: (r) => `${r.score} / ${r.total}` },
      { label: t('quizPercent'), num: true, render: (r) => h('span', { class: 'score' }, h('span', { class: 'score-bar', style: `width:${Math.max(0, Math.min(100, r.percent))}%` }), h('span', { class: 'score-num' }, pct(r.percent))) },
    ].filter(Boolean);
    if (!KG.can('supervisor')) {
      const mine = await api('/v1/quiz/results' + KG.qs({ limit, offset }));
      box.replaceChildren(section(t('quizMyResults'), { id: 'quiz-mine' }, mine.total ? h('div', { class: 'actions' }, KG.exportButton('quiz_results', {})) : null,
        KG.table(resultColumns(false), mine.items, { id: 'quiz-results', caption: t('quizMyResults'), empty: t('quizNoResults'), rowClass: () => 'quiz-row', rowData: (r) => ({ id: String(r.id), percent: String(r.percent) }) }),
        mine.total > limit ? KG.pager(mine.total, limit, offset, (o) => KG.go('/quiz', { offset: o })) : null));
      return;
    }
    const [perAgent, list, agents] = await Promise.all([
      api('/v1/quiz/agents?limit=500'),
      api('/v1/quiz/results' + KG.qs({ agent_id: agentId, limit, offset })),
      KG.agents(),
    ]);
    const agentSelect = KG.selectEl('f-quiz-agent', [{ value: '', label: t('allAgents') }].concat(agents.map((a) => ({ value: a.id, label: a.external_id }))), agentId,
      (v) => KG.go('/quiz', { agent_id: v }));
    box.replaceChildren(
      section(t('quizAgentScores'), { id: 'quiz-per-agent' }, KG.table([
        { label: t('agent'), render: (a) => h('a', { href: `#/quiz?agent_id=${a.agent_id}`, class: 'quiz-agent-link' }, a.agent) },
        { label: t('shop'), key: 'shop' },
        { label: t('quizLatest'), num: true, render: (a) => h('span', { class: 'score' }, h('span', { class: 'score-bar', style: `width:${Math.max(0, Math.min(100, a.latest_percent || 0))}%` }), h('span', { class: 'score-num' }, pct(a.latest_percent))) },
        { label: t('quizBest'), num: true, render: (a) => pct(a.best_percent) },
        { label: t('quizMean'), num: true, render: (a) => pct(a.mean_percent) },
        { label: t('quizAttempts'), num: true, key: 'attempts' },
        { label: t('quizLastTaken'), render: (a) => fmt.datetime(a.last_at) },
      ], perAgent.items, { id: 'quiz-agents', caption: t('quizAgentScores'), empty: t('quizNoResults'), rowClass: () => 'quiz-agent-row', rowData: (a) => ({ agent: a.agent, percent: String(a.latest_percent) }) })),
      section(t('quizRecent'), { id: 'quiz-recent' },
        h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() }, KG.field(t('agent'), agentSelect), KG.exportButton('quiz_results', { agent_id: agentId })),
        KG.table(resultColumns(true), list.items, { id: 'quiz-results', caption: t('quizRecent'), empty: t('quizNoResults'), rowClass: () => 'quiz-row', rowData: (r) => ({ id: String(r.id), agent: r.agent || '', percent: String(r.percent) }) }),
        list.total > limit ? KG.pager(list.total, limit, offset, (o) => KG.go('/quiz', { agent_id: agentId, offset: o })) : null));
  }

  KG.route('quiz', /^\/quiz$/, 'agent', async (view, match, ctx) => {
    const me = state.me;
    const platform = KG.selectEl('quiz-platform', KG.PLATFORMS.map((p) => ({ value: p, label: KG.platformName(p) })), ctx.params.get('platform') || 'douyin');
    const generated = KG.selectEl('quiz-generated', GENERATED.map((n) => ({ value: String(n), label: String(n) })), '6');
    const exam = h('input', { type: 'checkbox', id: 'quiz-exam', checked: true });
    const examField = h('div', { class: 'field field-check' }, exam, h('label', { for: 'quiz-exam' }, t('quizExam')));
    const start = h('button', { type: 'submit', class: 'btn', id: 'quiz-start' }, t('quizStart'));
    const error = h('div', { class: 'error-box', role: 'alert', id: 'quiz-error', hidden: true });
    const area = h('div', { id: 'quiz-area' });
    const board = h('div', { id: 'quiz-scores' });
    const form = h('form', { class: 'card', id: 'quiz-form' }, h('h2', null, t('quizNew')),
      h('div', { class: 'filters' }, KG.field(t('platform'), platform), KG.field(t('quizGenerated'), generated), examField),
      h('p', { class: 'hint' }, KG.can('supervisor') ? t('quizPracticeNote') : t('quizAgentNote', { agent: me.agent ? me.agent.external_id : me.label || '' })),
      error, h('div', { class: 'actions' }, start));
    const syncExam = () => { examField.hidden = platform.value !== 'douyin'; };
    platform.addEventListener('change', syncExam);
    syncExam();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      KG.busy(start, async () => {
        error.hidden = true;
        try {
          const quiz = await api('/v1/quiz' + KG.qs({ platform: platform.value, generated: generated.value, exam: platform.value === 'douyin' ? String(exam.checked) : 'false' }));
          takeQuiz(area, quiz, () => scores(board, ctx).catch((err) => board.replaceChildren(KG.errorBox(err))));
        } catch (err) {
          error.hidden = false;
          error.textContent = err.text ? err.text() : String(err);
        }
      });
    });
    view.append(pageHead(t('nav.quiz')), h('p', { class: 'muted' }, t('quizHelp')), form, area, board);
    await scores(board, ctx);
  });
})();
