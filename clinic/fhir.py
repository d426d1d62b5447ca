"""PHQ-9 history as FHIR R4: a QuestionnaireResponse plus a total-score Observation each."""

from clinic.models import Patient, Phq9Response
from clinic.phq9 import LOINC_PANEL, LOINC_TOTAL

LOINC = "http://loinc.org"
ITEM_LOINC = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
ITEM_TEXT = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
)
DIFFICULTY_LOINC = "69722-7"
ANSWERS = (("LA6568-5", "Not at all"), ("LA6569-3", "Several days"), ("LA6570-1", "More than half the days"),
           ("LA6571-9", "Nearly every day"))
DIFFICULTY_ANSWERS = (("LA6572-7", "Not difficult at all"), ("LA6573-5", "Somewhat difficult"),
                      ("LA6575-0", "Very difficult"), ("LA6574-3", "Extremely difficult"))


def _coding(code: str, display: str) -> dict:
    return {"system": LOINC, "code": code, "display": display}


def _subject(patient: Patient) -> dict:
    return {"identifier": {"system": "urn:cadence:patient-code", "value": patient.code}}


def questionnaire_response(response: Phq9Response) -> dict:
    items = [
        {"linkId": code, "text": text, "answer": [{"valueCoding": _coding(*ANSWERS[score])}]}
        for code, text, score in zip(ITEM_LOINC, ITEM_TEXT, response.items, strict=True)
    ]
    if response.difficulty is not None:
        items.append({"linkId": DIFFICULTY_LOINC, "text": "How difficult have these problems made it for you?",
                      "answer": [{"valueCoding": _coding(*DIFFICULTY_ANSWERS[response.difficulty])}]})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": f"phq9-{response.pk}",
        "questionnaire": f"{LOINC}/{LOINC_PANEL}",
        "status": "completed",
        "subject": _subject(response.patient),
        "authored": response.answered_at.isoformat(),
        "item": items,
    }
    resource["source" if response.source == "self_report" else "author"] = (
        _subject(response.patient) if response.source == "self_report"
        else {"display": f"entered on the patient's behalf by {response.entered_by.get_username()}"}
    )
    return resource


def total_observation(response: Phq9Response) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"phq9-total-{response.pk}",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [_coding(LOINC_TOTAL, "Patient Health Questionnaire 9 item (PHQ-9) total score")]},
        "subject": _subject(response.patient),
        "effectiveDateTime": response.answered_at.isoformat(),
        "valueQuantity": {"value": response.total, "unit": "{score}", "system": "http://unitsofmeasure.org",
                          "code": "{score}"},
        "interpretation": [{"text": response.severity}],
        "derivedFrom": [{"reference": f"QuestionnaireResponse/phq9-{response.pk}"}],
    }


def phq9_bundle(responses: list[Phq9Response]) -> dict:
    entries = []
    for response in responses:
        for resource in (questionnaire_response(response), total_observation(response)):
            entries.append({"fullUrl": f"urn:cadence:{resource['resourceType']}/{resource['id']}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


CSV_HEADER = ["patient", "answered_at", *(f"item{n}" for n in range(1, 10)), "difficulty", "total", "severity", "source"]


def phq9_csv_rows(responses: list[Phq9Response]) -> list[list]:
    return [[r.patient.code, r.answered_at.isoformat(), *r.items, "" if r.difficulty is None else r.difficulty,
             r.total, r.severity, r.source] for r in responses]
