// Security keys and passkeys on Cadence's pages: the browser's WebAuthn API through allauth's webauthn-json
// (a static file). Page data comes from a JSON block; nothing here runs inline, so a strict CSP allows it.
(function () {
  'use strict'

  function pageData () {
    return JSON.parse(document.getElementById('webauthn-data').textContent)
  }

  function explain (error) {
    const status = document.getElementById('webauthn-status')
    if (!status) return
    const name = error && error.name ? error.name : 'Error'
    status.textContent = name === 'NotAllowedError'
      ? 'The security key did not answer, or the request was cancelled. Try again.'
      : 'The security key could not be used (' + name + '). Try again, or use a code instead.'
  }

  function wire (buttonId, ask) {
    const button = document.getElementById(buttonId)
    if (!button) return
    button.addEventListener('click', async function (event) {
      event.preventDefault()
      const form = button.closest('form')
      try {
        const credential = await ask(pageData())
        form.querySelector('[name$=credential]').value = JSON.stringify(credential)
        form.submit()
      } catch (error) {
        explain(error)
      }
    })
  }

  function start () {
    wire('webauthn-add', function (data) { return window.webauthnJSON.create(data.creation_options) })
    wire('webauthn-authenticate', function (data) { return window.webauthnJSON.get(data.request_options) })
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()
