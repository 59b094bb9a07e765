"""Large bilingual codebooks for scale tests: 1,000, 5,000 or 10,000 codes that read like a real study's.

Each code has Spanish and English labels, a definition, inclusion criteria, two
examples per language (spoken, varied, no two alike), keywords (a word family
with ``*``, a word, a phrase) and, for one code in four, an exclusion and a
negative keyword. Codes sit three levels deep (dimension → theme → code), so
the embedding coder's lineages (a code's ancestors and descendants) are not
trivial. The same ``seed`` always gives the same codebook.

    python bench/make_codebooks.py OUTDIR            # codes1000.yaml, codes5000.yaml, codes10000.yaml
    python bench/make_codebooks.py OUTDIR --codes 2500
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# (Spanish, English, keyword family in Spanish, in English)
TOPICS = [
    ("colaboración", "collaboration", "colabor*", "collaborat*"),
    ("confianza", "trust", "confi*", "trust*"),
    ("liderazgo", "leadership", "lider*", "lead*"),
    ("planificación", "planning", "planific*", "plan*"),
    ("evaluación", "assessment", "evalu*", "assess*"),
    ("familias", "families", "famil*", "famil*"),
    ("comunidad", "community", "comunidad*", "communit*"),
    ("formación docente", "teacher training", "capacit*", "train*"),
    ("bienestar", "wellbeing", "bienestar*", "wellbeing*"),
    ("convivencia", "school climate", "conviv*", "climate*"),
    ("inclusión", "inclusion", "inclu*", "inclus*"),
    ("juego", "play", "jueg*", "play*"),
    ("lenguaje", "language", "lenguaj*", "languag*"),
    ("matemáticas", "mathematics", "matemátic*", "math*"),
    ("alimentación", "nutrition", "aliment*", "nutrit*"),
    ("infraestructura", "facilities", "infraestructur*", "facilit*"),
    ("recursos", "resources", "recurs*", "resourc*"),
    ("datos", "data", "dato*", "data*"),
    ("reuniones", "meetings", "reuni*", "meeting*"),
    ("redes", "networks", "red*", "network*"),
    ("mejora continua", "continuous improvement", "mejoramient*", "improv*"),
    ("protocolos", "protocols", "protocol*", "protocol*"),
    ("asistencia", "attendance", "asist*", "attend*"),
    ("transición a la escuela", "transition to school", "transici*", "transition*"),
    ("salud mental", "mental health", "salud*", "health*"),
    ("territorio", "territory", "territori*", "territor*"),
    ("normativa", "regulations", "normativ*", "regulat*"),
    ("supervisión", "supervision", "supervis*", "supervis*"),
    ("innovación", "innovation", "innov*", "innovat*"),
    ("tecnología", "technology", "tecnolog*", "technolog*"),
    ("equipos de aula", "classroom teams", "equip*", "team*"),
    ("rotación de personal", "staff turnover", "rotaci*", "turnover*"),
    ("emociones", "emotions", "emoci*", "emotion*"),
    ("autonomía", "autonomy", "autonom*", "autonom*"),
    ("rendición de cuentas", "accountability", "rendici*", "accountab*"),
    ("diversidad cultural", "cultural diversity", "cultur*", "cultur*"),
    ("migración", "migration", "migra*", "migra*"),
    ("documentación", "documentation", "document*", "document*"),
    ("observación de aula", "classroom observation", "observ*", "observ*"),
    ("retroalimentación", "feedback", "retroaliment*", "feedback*"),
]
ASPECTS = [
    ("obstáculos", "obstacles", "obstáculo", "obstacle"),
    ("logros", "achievements", "logro", "achievement"),
    ("estrategias", "strategies", "estrategia", "strategy"),
    ("tensiones", "tensions", "tensión", "tension"),
    ("aprendizajes", "lessons learned", "aprendizaje", "lesson"),
    ("roles", "roles", "rol", "role"),
    ("tiempos", "time", "tiempo", "time"),
    ("apoyos", "support", "apoyo", "support"),
    ("expectativas", "expectations", "expectativa", "expectation"),
    ("prácticas", "practices", "práctica", "practice"),
    ("decisiones", "decisions", "decisión", "decision"),
    ("acuerdos", "agreements", "pacto", "agreement"),
    ("riesgos", "risks", "riesgo", "risk"),
    ("motivación", "motivation", "motivación", "motivation"),
    ("percepciones", "perceptions", "percepción", "perception"),
    ("cambios", "changes", "cambio", "change"),
    ("brechas", "gaps", "brecha", "gap"),
    ("rutinas", "routines", "rutina", "routine"),
    ("conflictos", "conflicts", "conflicto", "conflict"),
    ("resultados", "results", "resultado", "result"),
    ("dudas", "doubts", "duda", "doubt"),
    ("compromisos", "commitments", "compromiso", "commitment"),
    ("costos", "costs", "costo", "cost"),
    ("indicadores", "indicators", "indicador", "indicator"),
    ("experiencias previas", "previous experience", "experiencia", "experience"),
]
CONTEXTS = [
    ("en el jardín", "in the centre", "jardín", "centre"),
    ("con las familias", "with families", "apoderado", "parent"),
    ("en la red", "in the network", "red", "network"),
    ("con el sostenedor", "with the provider", "sostenedor", "provider"),
    ("en el aula", "in the classroom", "sala", "classroom"),
    ("en pandemia", "during the pandemic", "pandemia", "pandemic"),
    ("entre directoras", "among principals", "directora", "principal"),
    ("con el equipo técnico", "with the technical team", "técnica", "technician"),
    ("en el territorio", "in the district", "comuna", "district"),
    ("con otras instituciones", "with other institutions", "institución", "institution"),
    ("durante la jornada", "during the school day", "jornada", "day"),
    ("en la formación inicial", "in initial training", "universidad", "university"),
]
SUBJECTS_ES = ["Yo", "La educadora", "Mi equipo", "Una apoderada", "La directora", "Nosotras", "La técnica",
               "El encargado del SLEP", "Una colega de la red", "La coordinadora"]
SUBJECTS_EN = ["I", "The teacher", "My team", "A parent", "The principal", "We", "The assistant",
               "The district officer", "A colleague from the network", "The coordinator"]
OPENERS_ES = ["Mire,", "Bueno,", "La verdad es que", "Fíjese que", "Igual", "Al principio", "Este año",
              "Cuando llegué,", "Después de la capacitación,", "Sinceramente,"]
OPENERS_EN = ["Well,", "Honestly,", "The thing is,", "At first", "This year", "When I arrived,",
              "After the training,", "To be fair,", "Looking back,", "You know,"]
VERBS_ES = ["habló de", "se preocupó por", "nos mostró", "tuvo que resolver", "propuso cambiar",
            "se quejó de", "celebró", "no entendía", "pidió ayuda con", "anotó todo sobre"]
VERBS_EN = ["talked about", "worried about", "showed us", "had to sort out", "suggested changing",
            "complained about", "celebrated", "did not get", "asked for help with", "wrote everything down about"]
ENDINGS_ES = ["y eso nos cambió la forma de trabajar.", "pero nadie le hizo caso al final.",
              "y lo conversamos en la reunión del jueves.", "aunque costó harto ponerse de acuerdo.",
              "y ahí recién entendimos el problema.", "porque antes cada una hacía lo suyo.",
              "y quedó en el acta para la próxima vez.", "sin que nadie se lo pidiera."]
ENDINGS_EN = ["and that changed the way we work.", "but in the end nobody listened.",
              "and we talked it over at Thursday's meeting.", "although it was hard to agree.",
              "and only then did we understand the problem.", "because before, everyone did their own thing.",
              "and it went into the minutes for next time.", "without anyone asking her to."]

SIZES = (1000, 5000, 10000)


def _q(text: str) -> str:
    """A YAML double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sentence(rng: random.Random, lang: str, topic: str, aspect: str, context: str, k: int) -> str:
    if lang == "es":
        return (f"{rng.choice(OPENERS_ES)} {rng.choice(SUBJECTS_ES).lower() if k else rng.choice(SUBJECTS_ES)} "
                f"{rng.choice(VERBS_ES)} {aspect} de {topic} {context} {rng.choice(ENDINGS_ES)}")
    return (f"{rng.choice(OPENERS_EN)} {rng.choice(SUBJECTS_EN)} {rng.choice(VERBS_EN)} the {aspect} of {topic} "
            f"{context}, {rng.choice(ENDINGS_EN)}")


def sibling_codebook(n_codes: int, seed: int = 0) -> str:
    """The YAML text of a codebook of ``n_codes`` codes (dimensions and themes included), reproducibly.

    Parameters
    ----------
    n_codes : int
        How many codes in all (at least 3).
    seed : int
        The same seed gives the same codebook.
    """
    rng = random.Random(seed)
    combos = [(t, a, c) for t in range(len(TOPICS)) for a in range(len(ASPECTS)) for c in range(len(CONTEXTS))]
    rng.shuffle(combos)
    lines = ["qualcode_codebook: 1", f"id: scale{n_codes}",
             f"title: {{es: Libro de códigos de {n_codes} códigos, en: A codebook of {n_codes} codes}}", "codes:"]
    made = 0
    dim = 0
    while made < n_codes:
        t = combos[dim % len(combos)][0]
        topic_es, topic_en, fam_es, fam_en = TOPICS[t]
        lines += [f"  - id: d{dim}",
                  f"    label: {{es: {_q(f'{topic_es.capitalize()} {dim}')}, "
                  f"en: {_q(f'{topic_en.capitalize()} {dim}')}}}",
                  f"    definition: {{es: {_q(f'Todo lo que se dice sobre {topic_es}.')}, "
                  f"en: {_q(f'Everything said about {topic_en}.')}}}",
                  f"    keywords: {{es: [{_q(fam_es)}], en: [{_q(fam_en)}]}}",
                  "    codes:"]
        made += 1
        for theme in range(4):
            if made >= n_codes:
                break
            a_es, a_en, _, _ = ASPECTS[(dim * 4 + theme) % len(ASPECTS)]
            lines += [f"      - id: d{dim}.t{theme}",
                      f"        label: {{es: {_q(f'{a_es.capitalize()} de {topic_es}')}, "
                      f"en: {_q(f'{topic_en.capitalize()} {a_en}')}}}",
                      f"        definition: {{es: {_q(f'{a_es.capitalize()} relacionados con {topic_es}.')}, "
                      f"en: {_q(f'{a_en.capitalize()} related to {topic_en}.')}}}",
                      "        codes:"]
            made += 1
            for k in range(24):
                if made >= n_codes:
                    break
                _, a, c = combos[(made * 7919) % len(combos)]
                asp_es, asp_en, word_es, word_en = ASPECTS[a]
                ctx_es, ctx_en, place_es, place_en = CONTEXTS[c]
                code_id = f"d{dim}.t{theme}.c{k}"
                label_es = f"{asp_es.capitalize()} de {topic_es} {ctx_es} ({made})"
                label_en = f"{topic_en.capitalize()} {asp_en} {ctx_en} ({made})"
                ex_es = [_sentence(rng, "es", topic_es, asp_es, ctx_es, j) for j in range(2)]
                ex_en = [_sentence(rng, "en", topic_en, asp_en, ctx_en, j) for j in range(2)]
                lines += [f"          - id: {code_id}",
                          f"            label: {{es: {_q(label_es)}, en: {_q(label_en)}}}",
                          "            definition:",
                          f"              es: {_q(f'Relatos sobre {asp_es} de {topic_es} {ctx_es}, código {made}.')}",
                          f"              en: {_q(f'Accounts of {topic_en} {asp_en} {ctx_en}, code {made}.')}",
                          "            inclusion:",
                          f"              es: {_q(f'Cuando la persona describe {word_es} concretos {ctx_es}.')}",
                          f"              en: {_q(f'When the speaker describes a concrete {word_en} {ctx_en}.')}",
                          f"            examples: {{es: [{', '.join(map(_q, ex_es))}], "
                          f"en: [{', '.join(map(_q, ex_en))}]}}",
                          f"            keywords: {{es: [{_q(fam_es)}, {_q(word_es)}, {_q(f'{word_es} {place_es}')}], "
                          f"en: [{_q(fam_en)}, {_q(word_en)}, {_q(f'{word_en} {place_en}')}]}}"]
                if made % 4 == 0:
                    lines += ["            exclusion:",
                              f"              es: {_q(f'No usar para {asp_es} de {topic_es} fuera de {place_es}.')}",
                              f"              en: {_q(f'Not for {topic_en} {asp_en} outside the {place_en}.')}",
                              f"            negative_keywords: {{es: [{_q('no ' + word_es)}], "
                              f"en: [{_q('no ' + word_en)}]}}"]
                made += 1
        dim += 1
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--codes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for n in args.codes:
        path = args.out / f"codes{n}.yaml"
        path.write_text(sibling_codebook(n, args.seed), encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
